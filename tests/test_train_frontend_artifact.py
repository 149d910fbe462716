"""train/frontend.json round-trips and refuses artifacts it cannot trust."""
import json

import numpy as np
import pytest

from dadarts.errors import UserError
from dadarts.frontend.artifact import read_frontend, write_frontend
from dadarts.frontend.spec import FRONTEND_VERSION, MfccConfig


def test_round_trip(tmp_path):
    config = MfccConfig.parse("400/200/40")
    mean, std = np.linspace(-3, 3, 40), np.linspace(0.5, 2, 40)
    write_frontend(tmp_path / "frontend.json", config, mean, std)
    art = read_frontend(tmp_path / "frontend.json")
    assert art.config == config and art.frontend_version == FRONTEND_VERSION
    np.testing.assert_allclose(art.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(art.std, std, rtol=1e-6)


def test_wrong_length_and_version_are_refused(tmp_path):
    config = MfccConfig.parse("640/320/80")
    with pytest.raises(ValueError):
        write_frontend(tmp_path / "f.json", config, np.zeros(40), np.ones(40))
    write_frontend(tmp_path / "f.json", config, np.zeros(80), np.ones(80))
    obj = json.loads((tmp_path / "f.json").read_text())
    obj["frontend_version"] = FRONTEND_VERSION + 1
    (tmp_path / "f.json").write_text(json.dumps(obj))
    with pytest.raises(UserError, match="front-end version"):
        read_frontend(tmp_path / "f.json")
