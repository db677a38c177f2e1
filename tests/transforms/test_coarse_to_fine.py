"""Coarse-to-fine inference: where it crops, what it pastes, and when it runs the whole slices instead."""
import logging

import pytest
import torch
from monai.data import MetaTensor
from monai.inferers import SliceInferer

from lib.conf import from_conf
from lib.transforms.coarse_to_fine import BACKGROUND_LOGIT, Box, CoarseToFineInferer, CoarseToFineSettings
from tests.transforms.bright_square import BrightSquareNet, volume

SETTINGS = CoarseToFineSettings(coarse_spacing_mm=2.0, coarse_slice_step=2, margin_mm=8.0)


def whole_slices(x, net):
    with torch.no_grad():
        return SliceInferer(roi_size=(-1, -1), spatial_dim=2, sw_batch_size=8, progress=False)(x, net)


def run(x, net, settings=SETTINGS):
    inferer = CoarseToFineInferer(spacing_mm=1.0, settings=settings)
    with torch.no_grad():
        return inferer(x, net), inferer


def test_output_has_the_input_shape_and_is_the_whole_slice_answer_inside_the_box_and_background_outside():
    x, net = volume(), BrightSquareNet().eval()
    out, inferer = run(x, net)
    assert out.shape == (1, 3, 96, 128, 6)
    # square rows 40:60, cols 50:70 grown by 8 mm and snapped outwards to 16 px
    assert inferer.last_box == Box(slice(32, 80), slice(32, 80), 96, 128)
    inside = (slice(None), slice(None), slice(32, 80), slice(32, 80))
    torch.testing.assert_close(out[inside], whole_slices(x, net)[inside])
    outside = torch.ones((96, 128), dtype=torch.bool)
    outside[32:80, 32:80] = False
    assert (out[:, 0][:, outside] == BACKGROUND_LOGIT).all() and (out[:, 1:][:, :, outside] == 0).all()
    assert torch.equal(out.argmax(1), whole_slices(x, net).argmax(1))


def test_coarse_pass_sees_every_nth_slice_at_the_coarse_spacing_and_the_fine_pass_only_the_crop():
    x, net = volume(), BrightSquareNet().eval()
    run(x, net)
    coarse = [s for s in net.shapes if s[2:] == (48, 64)]  # 96 x 128 at 2 mm
    fine = [s for s in net.shapes if s[2:] == (48, 48)]  # the 48 x 48 px box
    assert sum(s[0] for s in coarse) == 4  # slices 0, 2, 4 and the last (5)
    assert sum(s[0] for s in fine) == 6 and len(coarse) + len(fine) == len(net.shapes)


def test_coarse_grid_is_padded_to_the_stride():
    net = BrightSquareNet().eval()
    run(volume(height=80, width=112, squares=((30, 50, 40, 60),)), net)  # 40 x 56 at 2 mm -> 48 x 64
    assert net.shapes[0][2:] == (48, 64)


def test_no_foreground_in_the_coarse_pass_runs_the_whole_slices_and_says_so(caplog):
    x, net = volume(squares=()), BrightSquareNet().eval()
    with caplog.at_level(logging.INFO, logger="lib.transforms.coarse_to_fine"):
        out, inferer = run(x, net)
    assert inferer.last_box is None and "found no foreground" in caplog.text
    torch.testing.assert_close(out, whole_slices(x, net))


def test_a_box_covering_most_of_the_slice_runs_the_whole_slices(caplog):
    x, net = volume(squares=((8, 88, 8, 120),)), BrightSquareNet().eval()
    with caplog.at_level(logging.INFO, logger="lib.transforms.coarse_to_fine"):
        out, inferer = run(x, net)
    assert inferer.last_box is None and "running the whole slices" in caplog.text
    torch.testing.assert_close(out, whole_slices(x, net))


def test_disabled_runs_only_the_whole_slices():
    x, net = volume(), BrightSquareNet().eval()
    out, inferer = run(x, net, CoarseToFineSettings(enabled=False))
    assert inferer.last_box is None and {s[2:] for s in net.shapes} == {(96, 128)}
    torch.testing.assert_close(out, whole_slices(x, net))


def test_a_slice_whose_crop_has_foreground_on_the_box_edge_is_run_whole():
    x = volume()
    x[:, :, 70:74, :, 1] = 1.0  # a bar across the image on slice 1 only, which the coarse pass skips
    net = BrightSquareNet().eval()
    out, inferer = run(x, net)
    assert inferer.last_box == Box(slice(32, 80), slice(32, 80), 96, 128) and inferer.last_rerun == (1,)
    torch.testing.assert_close(out[..., 1], whole_slices(x, net)[..., 1])
    assert torch.equal(out.argmax(1), whole_slices(x, net).argmax(1))
    out, inferer = run(x, net, CoarseToFineSettings(coarse_spacing_mm=2.0, margin_mm=8.0, check_border=False))
    assert inferer.last_rerun == () and (out.argmax(1)[0, 70:74, :32, 1] == 0).all()  # the bar is cut without it


def test_meta_data_of_the_input_is_kept_for_the_inverse_transforms():
    x = MetaTensor(volume(), affine=torch.diag(torch.tensor([2.0, 2.0, 4.0, 1.0])))
    out, _ = run(x, BrightSquareNet().eval())
    assert isinstance(out, MetaTensor) and torch.equal(out.affine, x.affine)


def test_settings_come_from_conf_and_are_checked():
    s = from_conf(CoarseToFineSettings, {"segmentation_c2f_margin_mm": "20", "segmentation_c2f_enabled": "false"},
                  prefix="segmentation_c2f_")
    assert s.margin_mm == 20.0 and s.enabled is False and s.coarse_spacing_mm == 2.0
    with pytest.raises(ValueError, match="coarse_slice_step"):
        CoarseToFineSettings(coarse_slice_step=0)


def test_an_input_no_finer_than_the_coarse_spacing_runs_the_whole_slices():
    x, net = volume(), BrightSquareNet().eval()
    inferer = CoarseToFineInferer(spacing_mm=3.0, settings=SETTINGS)
    with torch.no_grad():
        out = inferer(x, net)
    assert inferer.last_box is None and {s[2:] for s in net.shapes} == {(96, 128)}
    torch.testing.assert_close(out, whole_slices(x, net))
