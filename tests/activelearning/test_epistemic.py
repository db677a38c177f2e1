"""Monte Carlo dropout: the uncertainty measure, and a network whose only random part is its dropout."""
import numpy as np
import torch

from lib.activelearning.epistemic import epistemic_summary, mc_dropout_network, mutual_information
from lib.networks import segmentation_vnet


def test_mutual_information_is_zero_when_passes_agree_and_positive_when_they_differ():
    sure = np.tile(np.array([0.1, 0.8, 0.1])[None, None, :, None, None], (4, 1, 1, 2, 2))
    mi, predictive = mutual_information(sure)
    assert np.allclose(mi, 0.0, atol=1e-6) and (predictive > 0).all()
    flip = np.stack([np.eye(3)[[1]], np.eye(3)[[2]]])[:, :, :, None, None].repeat(2, 3).repeat(2, 4)
    assert mutual_information(flip)[0].min() > 0.6  # log 2
    value, details = epistemic_summary(flip)
    assert value > 0.6 and details["roi_fraction"] == 1.0 and details["samples"] == 2


def test_mc_dropout_network_keeps_batch_norm_fixed_and_drops_feature_maps(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(segmentation_vnet().state_dict(), path)
    net = mc_dropout_network(segmentation_vnet, path, 0.5)
    drops = [m for m in net.modules() if isinstance(m, torch.nn.Dropout2d)]
    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert drops and all(m.training for m in drops) and not any(m.training for m in norms)
    assert not any(isinstance(m, torch.nn.Dropout3d) for m in net.modules())
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        a, b = net(x), net(x)
    assert not torch.allclose(a, b)


def test_scoring_on_the_coarse_pass_crop_gives_the_whole_slice_score(tmp_path):
    import nibabel as nib

    from lib.activelearning.epistemic import EpistemicScoring
    from lib.transforms.coarse_to_fine import CoarseToFineSettings
    from tests.transforms.bright_square import BrightSquareNet

    image = np.zeros((160, 150, 8), np.float32)
    image[60:85, 70:95, :] = 900.0
    path = tmp_path / "image.nii.gz"
    nib.save(nib.Nifti1Image(image, np.diag([0.8, 0.8, 4.0, 1.0])), path)
    weights = tmp_path / "w.pt"
    torch.save(BrightSquareNet().state_dict(), weights)

    class Datastore:
        def get_image_uri(self, image_id):
            return str(path)

    def score(**settings):
        return EpistemicScoring(weights, BrightSquareNet, 1.0, samples=4, dropout=0.3, max_slices=4, batch=1,
                                coarse_to_fine=CoarseToFineSettings(margin_mm=8.0, **settings)).score("s", {}, Datastore())

    (value, details), (whole_value, whole_details) = score(), score(enabled=False)
    assert 0.0 < details["crop_fraction"] < 0.5 and whole_details["crop_fraction"] == 1.0
    # the dropout masks do not depend on the slice size and outside the crop nothing is uncertain: same score
    assert value > 0.0 and np.isclose(value, whole_value)
    assert details["roi_fraction"] == whole_details["roi_fraction"] and details["slices"] == 4
