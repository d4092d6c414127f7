"""``analytics/__init__.py`` loads its names lazily (PEP 562): the package and the CLI's
``--help`` do not import the model libraries, and every public name is still there."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import analytics

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sklearn", "scipy", "lifetimes", "autograd")


def loaded_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_package_loads_no_model_library():
    assert loaded_after("import analytics") == []


def test_help_loads_no_model_library():
    code = ("import contextlib, io\nfrom analytics.__main__ import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])")
    assert loaded_after(code) == []


def test_descriptive_modules_load_no_model_library():
    code = "import analytics.report, analytics.loading, analytics.cleaning, analytics.selection"
    assert loaded_after(code) == []


def test_a_model_name_loads_its_library():
    # the churn module loads scikit-learn only to fit or score (a web worker reads stored models)
    assert "sklearn" not in loaded_after("from analytics import train_churn_model")
    assert "sklearn" in loaded_after("from analytics import churn\nchurn._sklearn()")


def test_every_public_name_is_the_submodules_object():
    import analytics.churn
    import analytics.report
    import analytics.rfm

    assert analytics.describe is analytics.report.describe
    assert analytics.SEGMENT_ORDER is analytics.rfm.SEGMENT_ORDER
    assert analytics.train_churn_model is analytics.churn.train_churn_model
    missing = [name for name in analytics.__all__ if getattr(analytics, name, None) is None]
    assert missing == []
    assert set(analytics.__all__) <= set(dir(analytics))


def test_an_unknown_name_is_an_attribute_error():
    try:
        analytics.no_such_function  # noqa: B018
    except AttributeError as exc:
        assert "no_such_function" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
