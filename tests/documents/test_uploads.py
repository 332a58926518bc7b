"""Upload checks: every refusal, every accepted type, metadata stripping, streaming limits."""

from __future__ import annotations

import io
import os
import zipfile
import zlib

import pytest
from PIL import Image

from documents.uploads import (
    ATTACHMENT_KINDS,
    UploadLimits,
    UploadRefused,
    inspect_upload,
    iter_file_chunks,
    limits_from_config,
    sanitize_display_name,
)


def chunked(data: bytes, size: int = 4096):
    return [data[i : i + size] for i in range(0, len(data), size)]


def accept(data: bytes, name: str, **kwargs):
    upload = inspect_upload(chunked(data), name, **kwargs)
    return upload, b"".join(upload.chunks)


def refused(data: bytes, name: str, **kwargs) -> UploadRefused:
    with pytest.raises(UploadRefused) as info:
        upload = inspect_upload(chunked(data), name, **kwargs)
        b"".join(upload.chunks)  # some refusals only come while streaming
    assert str(info.value)  # a readable message
    return info.value


# --------------------------------------------------------------------------- builders


def image_bytes(fmt: str, size=(64, 48), mode="RGB", **save) -> bytes:
    image = Image.new(mode, size)
    for x in range(size[0]):
        for y in range(size[1]):
            image.putpixel((x, y), (x * 3 % 256, y * 5 % 256, 128) if mode == "RGB" else x % 256)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def pdf(*objects: bytes, trailer_extra: bytes = b"") -> bytes:
    """A well-formed PDF with the given object bodies (numbered from 1) and a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)


def stream_object(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"
CONTENT = stream_object(b"/Filter /FlateDecode", zlib.compress(b"BT /F1 12 Tf 72 712 Td (Specimen) Tj ET"))


def minimal_pdf(*extra: bytes, catalog: bytes = CATALOG, trailer_extra: bytes = b"") -> bytes:
    return pdf(catalog, PAGES, PAGE, CONTENT, *extra, trailer_extra=trailer_extra)


def ooxml(
    kind: str, extra: dict[str, bytes] | None = None, main_type: str | None = None, body: bytes | None = None
) -> bytes:
    if kind == "xlsx":
        part, ctype = (
            "xl/workbook.xml",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        )
        default_body = b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>'
    else:
        part, ctype = (
            "word/document.xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        )
        default_body = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/></w:document>'
    main_body = body if body is not None else default_body
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main_type or ctype}"/>'
        "</Types>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr(
            "_rels/.rels",
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
        )
        archive.writestr(part, main_body)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + bytes(200)
)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(200)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "data, name, code",
    [
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "a.svg",
            "svg",
        ),
        (b"<svg onload=alert(1)>", "photo.png", "svg"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "page.html", "html"),
        (b"\xef\xbb\xbf  <html><script>x</script>", "report.csv", "html"),
        (b"<?xml version='1.0'?><note/>", "a.xml", "unsupported_type"),
        (EXE, "setup.exe", "executable"),
        (EXE, "photo.jpg", "executable"),
        (ELF, "tool", "executable"),
        (b"#!/bin/sh\nrm -rf /\n", "run.csv", "executable"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.doc", "unsupported_type"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a.gif", "unsupported_type"),
        (b"", "empty.pdf", "empty"),
    ],
)
def test_dangerous_or_unknown_content_is_refused(data, name, code):
    assert refused(data, name).code == code


def test_an_executable_is_refused_before_reading_the_rest():
    def source():
        yield EXE + bytes(9000)  # more than the head the sniffer reads
        raise AssertionError("read past the head of an executable")

    with pytest.raises(UploadRefused) as info:
        inspect_upload(source(), "x.exe")
    assert info.value.code == "executable"


@pytest.mark.parametrize(
    "data, name",
    [
        (image_bytes("PNG"), "photo.jpg"),
        (image_bytes("JPEG"), "photo.png"),
        (minimal_pdf(), "manual.docx"),
        (b"a,b\n1,2\n", "data.xlsx"),
        (ooxml("docx"), "sheet.xlsx"),
        (ooxml("xlsx"), "sheet.pdf"),
        (image_bytes("TIFF"), "scan.txt"),
    ],
)
def test_a_name_that_disagrees_with_the_content_is_refused(data, name):
    assert refused(data, name).code == "extension_mismatch"


def test_oversize_is_refused_while_streaming():
    limits = UploadLimits(max_bytes=100_000)
    consumed = []

    def source():
        for _ in range(1000):
            consumed.append(1)
            yield b"a,b,c\n" * 1000

    with pytest.raises(UploadRefused) as info:
        b"".join(inspect_upload(source(), "big.csv", limits=limits).chunks)
    assert info.value.code == "too_large"
    assert "0.095" in str(info.value)  # the limit is named, in MB
    assert len(consumed) <= 18  # stopped right after the limit, not at the end of the stream


def test_oversize_image_is_refused_with_the_default_limit_from_the_config():
    limits = limits_from_config({"MAX_CONTENT_LENGTH": 2000})
    assert limits.max_bytes == 2000
    noise = io.BytesIO()
    Image.frombytes("RGB", (100, 100), os.urandom(30_000)).save(noise, "PNG")
    assert refused(noise.getvalue(), "big.png", limits=limits).code == "too_large"
    assert limits_from_config({"UPLOAD_MAX_BYTES": 10, "MAX_CONTENT_LENGTH": 2000}).max_bytes == 10
    assert limits_from_config({}).max_bytes == 50 * 1024 * 1024


def test_decompression_bomb_image_is_refused():
    limits = UploadLimits(max_image_pixels=10_000)
    # 1000 x 1000 of one colour: a few KB compressed, a megapixel decoded.
    bomb = io.BytesIO()
    Image.new("L", (1000, 1000)).save(bomb, "PNG", optimize=True)
    assert len(bomb.getvalue()) < 5000
    assert refused(bomb.getvalue(), "bomb.png", limits=limits).code == "image_too_large"


def test_a_real_large_decompression_bomb_is_refused_with_default_limits():
    # 8000 x 8000 (64 megapixels, over the 40 MP default) of a 1-bit image compresses to a few KB.
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 100_000
    assert refused(bomb.getvalue(), "bomb.png").code == "image_too_large"


def test_image_dimension_limit():
    limits = UploadLimits(max_image_dimension=100)
    assert refused(image_bytes("PNG", size=(101, 2)), "wide.png", limits=limits).code == "image_too_large"


def test_damaged_image_is_refused():
    data = image_bytes("PNG")
    assert refused(data[: len(data) // 2], "cut.png").code == "image_invalid"
    damaged = bytearray(image_bytes("PNG"))
    damaged[40] ^= 0xFF  # inside the first chunk: CRC mismatch
    assert refused(bytes(damaged), "bad.png").code == "image_invalid"


@pytest.mark.parametrize(
    "extra, code",
    [
        (b"<< /Type /Action /S /JavaScript /JS (app.alert('x')) >>", "pdf_javascript"),
        (b"<< /Type /Action /S /Launch /F (cmd.exe) >>", "pdf_launch"),
        (b"<< /Type /EmbeddedFile /Length 0 >>", "pdf_embedded_file"),
        (b"<< /Names << /EmbeddedFiles 9 0 R >> >>", "pdf_embedded_file"),
        (b"<< /S /J#61va#53cript /J#53 (x) >>", "pdf_javascript"),  # hex-escaped names
        (b"<< /XFA 9 0 R >>", "pdf_javascript"),
    ],
)
def test_pdf_with_active_content_is_refused(extra, code):
    assert refused(minimal_pdf(extra), "report.pdf").code == code


def test_pdf_open_action_with_javascript_is_refused_but_a_plain_open_action_is_not():
    js = CATALOG[:-2] + b" /OpenAction << /S /JavaScript /JS (this.print()) >> >>"
    assert refused(minimal_pdf(catalog=js), "a.pdf").code == "pdf_javascript"
    goto = CATALOG[:-2] + b" /OpenAction [3 0 R /Fit] >>"
    upload, _ = accept(minimal_pdf(catalog=goto), "a.pdf")
    assert upload.kind.code == "pdf"


def test_pdf_with_javascript_hidden_in_a_compressed_object_stream_is_refused():
    hidden = b"5 0 << /S /JavaScript /JS (app.alert(1)) >>"
    objstm = stream_object(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", zlib.compress(hidden))
    assert refused(minimal_pdf(objstm), "a.pdf").code == "pdf_javascript"


def test_pdf_with_javascript_in_any_flate_stream_is_refused_even_split_across_chunks():
    hidden = stream_object(
        b"/Filter /FlateDecode", zlib.compress(b"x" * 5000 + b"<< /S /Launch >>" + b"y" * 5000)
    )
    data = minimal_pdf(hidden)
    for size in (1, 7, 100, 4096):
        with pytest.raises(UploadRefused) as info:
            b"".join(inspect_upload(chunked(data, size), "a.pdf").chunks)
        assert info.value.code == "pdf_launch"


def test_pdf_object_stream_with_an_uninspectable_filter_is_refused():
    objstm = stream_object(b"/Type /ObjStm /N 1 /First 4 /Filter /LZWDecode", b"\x80\x0b\x60\x50")
    assert refused(minimal_pdf(objstm), "a.pdf").code == "pdf_uninspectable"
    broken = stream_object(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", b"not zlib at all")
    assert refused(minimal_pdf(broken), "a.pdf").code == "pdf_uninspectable"


def test_encrypted_pdf_and_damaged_pdf_are_refused():
    assert refused(minimal_pdf(trailer_extra=b"/Encrypt 9 0 R "), "a.pdf").code == "pdf_encrypted"
    assert refused(minimal_pdf()[:-20], "a.pdf").code == "pdf_invalid"  # no %%EOF
    assert refused(b"%PDF-x.y garbage %%EOF", "a.pdf").code == "pdf_invalid"


def test_pdf_refusal_comes_before_the_last_piece_is_released():
    data = minimal_pdf(b"<< /S /JavaScript >>")
    upload = inspect_upload(chunked(data, len(data) // 2 + 1), "a.pdf")
    released: list[bytes] = []
    with pytest.raises(UploadRefused):
        released.extend(upload.chunks)
    assert b"".join(released) != data


def test_office_with_macros_is_refused():
    assert (
        refused(ooxml("xlsx", {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(100)}), "m.xlsx").code
        == "office_macros"
    )
    macro_type = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    assert refused(ooxml("xlsx", main_type=macro_type), "m.xlsx").code == "office_macros"
    assert refused(ooxml("docx", {"word/vbaProject.bin": b"x"}), "m.docx").code == "office_macros"
    assert refused(ooxml("docx", {"word/embeddings/oleObject1.bin": b"x"}), "m.docx").code == "office_macros"


def test_zip_bomb_is_refused():
    bomb = ooxml("xlsx", {"xl/worksheets/sheet1.xml": b"\x00" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    assert refused(bomb, "bomb.xlsx").code == "zip_bomb"
    # Also by total size, even at a modest ratio.
    limits = UploadLimits(max_unzipped_bytes=50_000)
    assert (
        refused(ooxml("docx", {"word/media/a.bin": bytes(range(256)) * 400}), "a.docx", limits=limits).code
        == "zip_bomb"
    )


def test_invalid_office_packages_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "just a zip")
    assert refused(out.getvalue(), "a.zip").code == "office_invalid"
    assert refused(ooxml("docx", main_type="application/xml"), "a.docx").code == "office_invalid"
    doctype = ooxml("xlsx", body=b'<!DOCTYPE x [<!ENTITY a "aaaa">]><workbook>&a;</workbook>')
    assert refused(doctype, "a.xlsx").code == "office_invalid"
    assert refused(ooxml("docx", body=b"<w:document><unclosed>"), "a.docx").code == "office_invalid"
    data = ooxml("xlsx")
    assert refused(data[:-30], "cut.xlsx").code == "office_invalid"


@pytest.mark.parametrize(
    "data",
    [
        b"name,country\n\xff\xfe broken,GTM\n",  # not UTF-8
        b"name,country\nAna\x00,GTM\n",  # NUL
        b'name,note\nAna,"never closed\n',  # unbalanced quote
        b'a,b\n"x"y,z\n',  # stray character after a closing quote
    ],
)
def test_invalid_csv_is_refused(data):
    assert refused(data, "list.csv").code == "csv_invalid"


def test_invalid_csv_far_into_the_file_is_refused_while_streaming():
    data = b"a,b\n" * 100_000 + b"\xff\n"
    assert refused(data, "late.csv").code == "csv_invalid"


def test_csv_line_limit():
    limits = UploadLimits(max_csv_line_chars=1000)
    assert refused(b"a" * 5000 + b"\n", "long.csv", limits=limits).code == "csv_invalid"


def test_types_not_allowed_in_a_context_are_refused():
    error = refused(b"a,b\n1,2\n", "x.csv", allowed=ATTACHMENT_KINDS)
    assert error.code == "not_allowed_here" and "CSV" in str(error)


# --------------------------------------------------------------------------- acceptances


@pytest.mark.parametrize(
    "fmt, name, code", [("JPEG", "front.jpg", "jpeg"), ("PNG", "uv.png", "png"), ("TIFF", "ir.tiff", "tiff")]
)
def test_images_are_accepted_and_re_encoded(fmt, name, code):
    original = image_bytes(fmt)
    upload, cleaned = accept(original, name, allowed=ATTACHMENT_KINDS)
    assert upload.kind.code == code and upload.display_name == name
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == fmt and image.size == (64, 48)
        image.load()
    if fmt != "JPEG":  # lossless formats keep the exact pixels
        with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(cleaned)) as after:
            assert before.convert("RGB").tobytes() == after.convert("RGB").tobytes()


def test_exif_and_gps_are_stripped_from_jpeg():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Maker"  # Make
    exif[0x0110] = "Model-X-SECRET"  # Model
    exif[0x9286] = "comment"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (14.0, 37.0, 12.0)
    gps[3] = "W"
    gps[4] = (90.0, 30.0, 5.0)
    original = image_bytes("JPEG", exif=exif.tobytes(), comment=b"secret comment", dpi=(600, 600))
    with Image.open(io.BytesIO(original)) as check:
        assert check.getexif().get_ifd(0x8825)
    assert b"SpyCam" in original and b"secret comment" in original
    _, cleaned = accept(original, "front.jpeg")
    assert b"SpyCam" not in cleaned and b"Model-X-SECRET" not in cleaned and b"secret comment" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert not image.getexif()
        assert "exif" not in image.info and "comment" not in image.info
        assert image.info.get("dpi") == pytest.approx((600, 600))


def test_exif_orientation_is_applied_before_it_is_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    original = image_bytes("JPEG", size=(64, 48), exif=exif.tobytes())
    _, cleaned = accept(original, "a.jpg")
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (48, 64)
        assert not image.getexif()


def test_png_text_chunks_and_icc_profile_are_stripped():
    from PIL import ImageCms, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Agent Secret")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 14.6 -90.5</x:xmpmeta>")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = image_bytes("PNG", pnginfo=info, icc_profile=icc)
    assert b"Agent Secret" in original
    _, cleaned = accept(original, "a.png")
    assert b"Agent Secret" not in cleaned and b"xmpmeta" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert "icc_profile" not in image.info and not image.text


def test_tiff_metadata_is_stripped_and_pages_kept():
    exif = Image.Exif()
    exif[0x010F] = "ScannerBrand-SECRET"
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "green")]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], exif=exif, description="secret desc")
    original = out.getvalue()
    assert b"ScannerBrand-SECRET" in original
    _, cleaned = accept(original, "scan.tif")
    assert b"ScannerBrand-SECRET" not in cleaned and b"secret desc" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.n_frames == 2


def test_palette_and_greyscale_images_are_accepted():
    for mode in ("P", "L"):
        image = Image.new(mode, (10, 10))
        out = io.BytesIO()
        image.save(out, "PNG")
        upload, cleaned = accept(out.getvalue(), "x.png")
        assert upload.kind.code == "png" and cleaned.startswith(b"\x89PNG")


def test_minimal_pdf_is_accepted_unchanged_in_any_chunking():
    data = minimal_pdf()
    for size in (1, 50, 4096, 1 << 20):
        upload = inspect_upload(chunked(data, size), "Manual.PDF")
        assert b"".join(upload.chunks) == data
        assert upload.kind.code == "pdf" and upload.mime_type == "application/pdf"


def test_pdf_with_an_image_stream_is_not_scanned_inside_the_pixels():
    pixels = b"\xff\xd8\xff" + b"noise /JS noise /Launch " * 10 + b"\xff\xd9"
    image = stream_object(b"/Type /XObject /Subtype /Image /Filter /DCTDecode", pixels)
    upload, _ = accept(minimal_pdf(image), "a.pdf")
    assert upload.kind.code == "pdf"


def test_pdf_with_uncompressed_content_is_scanned_as_is():
    plain = stream_object(b"", b"BT (text) Tj ET /JS")
    assert refused(minimal_pdf(plain), "a.pdf").code == "pdf_javascript"


@pytest.mark.parametrize(
    "data",
    [
        b"name,country,date\nAna,GTM,2024-01-01\n",
        'nombre,país\nJosé,México\r\nZoë,"Ciudad, con coma"\n'.encode(),
        b"\xef\xbb\xbfa;b\n1;2",  # BOM, semicolons, no final newline
        b'a,b\n"multi\nline",2\n',
    ],
)
def test_csv_is_accepted_unchanged(data):
    upload, out = accept(data, "list.csv")
    assert upload.kind.code == "csv" and out == data


def test_csv_in_many_small_chunks_with_split_characters():
    data = ('ñandú,€uro,"a\r\nb"\r\n' * 2000).encode()
    upload = inspect_upload(chunked(data, 3), "x.csv")
    assert b"".join(upload.chunks) == data


@pytest.mark.parametrize("kind", ["xlsx", "docx"])
def test_office_documents_are_accepted(kind):
    data = ooxml(kind, {"docProps/core.xml": b"<x/>"})
    upload, out = accept(data, f"Matrix 2024.{kind}")
    assert upload.kind.code == kind and out == data
    assert upload.mime_type.startswith("application/vnd.openxmlformats")


def test_missing_extension_gets_the_canonical_one():
    upload, _ = accept(image_bytes("JPEG"), "specimen")
    assert upload.display_name == "specimen.jpg"
    upload, _ = accept(b"a,b\n", None)
    assert upload.display_name == "document.csv"


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\Desktop\\pasaporte falso.jpg", "pasaporte falso.jpg"),
        ("évidence\u202eexe.pdf", "évidenceexe.pdf"),  # bidi override removed
        ("a\x00b\x1fc\x7f.csv", "abc.csv"),
        ("  ..hidden.pdf  ", "hidden.pdf"),
        ('re"port<1>?.pdf', "report1.pdf"),
        ("Informe\u00a0de\tcasos.docx", "Informe de casos.docx"),
        ("护照 样本.png", "护照 样本.png"),
        ("", ""),
    ],
)
def test_display_names_are_sanitised(raw, expected):
    assert sanitize_display_name(raw) == expected


def test_long_display_names_keep_their_extension():
    name = sanitize_display_name("á" * 400 + ".pdf", max_length=50)
    assert len(name) == 50 and name.endswith(".pdf")


def test_chunks_from_a_binary_stream():
    data = minimal_pdf()
    upload = inspect_upload(iter_file_chunks(io.BytesIO(data), 100), "a.pdf")
    assert b"".join(upload.chunks) == data
