"""What users come for: avatars from nothing, from text, from a portrait, or edited by text."""
