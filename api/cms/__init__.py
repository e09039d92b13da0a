"""The staff CMS: server-rendered pages to look after users and their devices (SPEC §8)."""
