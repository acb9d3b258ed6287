"""The tutorial in docs/connectors.md is code: extract its files and run its test, so the docs cannot rot."""

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
BLOCK = re.compile(r'```python title="([\w./-]+)"\n(.*?)```', re.S)


def test_tutorial_connector_is_written_and_tested_from_the_docs(tmp_path):
    files = dict(BLOCK.findall(DOC.read_text()))
    assert set(files) == {"shop_reviews.py", "test_shop_reviews.py"}
    assert len(files["shop_reviews.py"].splitlines()) < 50, "the tutorial promises a connector in under 50 lines"
    for name, code in files.items():
        (tmp_path / name).write_text(code)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                        "-c", "/dev/null", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout
