// RFC 5322 / MIME parsing for Tern. See docs/architecture.md.
