"""Avatars (users' in auth, agents' in chat), one set of rules: an upload is refused by size
before it is read (`upload.UploadLimit`), decoded safely and re-encoded (`images`), stored under
a random name that never changes (`store`), and served cached for a year."""
