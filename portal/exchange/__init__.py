"""Intelligence exchange: submissions between member countries (SIENA-style evaluation and handling codes),
acknowledged by each recipient party, answered in threads that never reach wider than the submission."""
