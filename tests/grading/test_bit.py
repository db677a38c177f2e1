"""Classifier creation: a configured local weight file is loaded through timm's pretrained path; none means random
init, said once in the log."""
import logging

import torch

from lib.grading import bit


def test_local_pretrained_file_is_loaded_and_the_head_is_replaced(tmp_path):
    source = bit.create_classifier("test_resnet", 1000)
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    model = bit.create_classifier("test_resnet", 4, pretrained=str(path))
    first = next(k for k in source.state_dict() if k.endswith("weight"))
    assert torch.equal(model.state_dict()[first], source.state_dict()[first])
    assert model.get_classifier().out_features == 4


def test_no_weights_is_said_once(caplog, tmp_path):
    bit._warned.clear()
    with caplog.at_level(logging.WARNING, logger="lib.grading.bit"):
        for _ in range(3):
            bit.create_classifier("test_resnet", 2, pretrained=str(tmp_path / "absent.pth"))
    assert sum("not found" in r.message for r in caplog.records) == 1


def test_state_dict_round_trip_and_probabilities(tmp_path):
    import numpy as np

    model = bit.create_classifier("test_resnet", 4)
    path = bit.save_state_dict(model, tmp_path / "m.pt")
    again = bit.load_classifier("test_resnet", 4, path)
    x = np.random.default_rng(0).normal(size=(3, 3, 32, 32)).astype(np.float32)
    p = bit.predict_proba(again, x)
    assert p.shape == (3, 4) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert np.allclose(p, bit.predict_proba(model.eval(), x), atol=1e-5)
