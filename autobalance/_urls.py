"""Storage URLs as they may be shown: in messages and in saved models."""

__all__ = ["redact"]


def redact(url):
    """``url`` with its password hidden (SQLAlchemy's rendering when it parses
    the URL, else everything before the host left out)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url
