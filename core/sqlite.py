"""sqlite-utils, imported without pandas and numpy: `from core.sqlite import sqlite_utils`.

sqlite-utils imports pandas and numpy when it can, for the column types of values the audit
never stores; that is about 60 MiB and a quarter of a second in every process that opens the
store (the job's, each crawl's). They are hidden only while sqlite-utils loads: other code can
still import them (the tests read the XLSX export with pandas).
"""

import sys

_hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
for _name in _hidden:
    sys.modules[_name] = None  # type: ignore[assignment]  # "import pandas" fails meanwhile
try:
    import sqlite_utils
finally:
    for _name in _hidden:
        del sys.modules[_name]

__all__ = ["sqlite_utils"]
