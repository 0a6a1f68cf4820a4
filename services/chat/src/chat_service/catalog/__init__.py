"""The models a user may pick: the provider's list (`service`) and `GET /api/models`."""
