"""Where the locality guard used to live: it is the transport's, now `providers/locality.py`.

Kept only for `gateway.py`, which imports `private_content` from here and is being changed on
another branch; once that lands, its import moves to `providers.locality` and this file goes.
"""

from magray_lsp.providers.locality import private_content

__all__ = ["private_content"]
