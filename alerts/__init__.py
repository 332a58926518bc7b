"""Early-warning database of fraudulent travel documents: alerts, MRZ checks, search and the machine API."""
