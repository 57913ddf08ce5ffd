"""`stockfeed-dashboard [streamlit flags]`: run the Streamlit app shipped in this package."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    app = Path(__file__).with_name("app.py")
    streamlit = Path(sys.executable).with_name("streamlit")
    argv = [str(streamlit), "run", str(app), "--browser.gatherUsageStats", "false", *sys.argv[1:]]
    os.execv(streamlit, argv)  # noqa: S606 - our own interpreter's streamlit, no shell involved
