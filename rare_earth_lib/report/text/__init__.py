"""Text of the briefings built from their numbers: key judgments, sentences, formatted values (no number typed by hand)."""
