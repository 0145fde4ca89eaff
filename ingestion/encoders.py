"""The embedding models this process loads, configured by the settings (backend, device, batch size, cache)."""

from django.conf import settings

from . import embeddings
from .models import default_embedding_model


def encoder_for(model_name: str) -> embeddings.Encoder:
    return embeddings.load_encoder(
        model_name,
        backend=settings.EMBEDDING_BACKEND,
        device=settings.EMBEDDING_DEVICE,
        batch_size=settings.EMBEDDING_BATCH_SIZE,
        cache_dir=settings.DATA_DIR / "models",
    )


def load_default_encoder() -> embeddings.Encoder:
    """Loads the configured model as a process starts, so that its first document or question does not wait."""
    return encoder_for(default_embedding_model())
