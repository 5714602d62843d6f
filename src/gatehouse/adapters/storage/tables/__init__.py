"""Table definitions, one module per area, all on one ``Base``.

Importing this package registers every table on ``Base.metadata``.
"""

from gatehouse.adapters.storage.tables import (
    dialler,  # noqa: F401  (W1-D)
    platform,  # noqa: F401  (W1-A)
    quality,  # noqa: F401  (0006: quality scores, agent clearances)
    recordings,  # noqa: F401  (W1-F)
    scripts,  # noqa: F401  (W1-C)
    vault,  # noqa: F401  (W1-A)
)
from gatehouse.adapters.storage.tables.base import Base

__all__ = ["Base"]
