"""Development tooling: write measured sections into the README.

Used by the scripts in this folder (``--readme README.md``); not part of the
installed package.
"""

import os
import platform


def cpu_model():
    """The CPU's model name (/proc/cpuinfo), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description():
    """CPU model and core count, for the table's header."""
    return f"{cpu_model()}, {os.cpu_count()} cores"


def update_readme(path, table, header, marker="demo-table"):
    """Replace what stands between ``<!-- marker:begin -->`` and ``<!-- marker:end -->``."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index(begin) + len(begin)
    stop = text.index(end)
    text = text[:start] + "\n" + header + "\n\n" + table + "\n" + text[stop:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
