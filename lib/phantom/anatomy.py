"""The anatomy of one synthetic patient, as frozen dataclasses (millimetres, spine-local frame).

Discs and vertebrae are listed cranial to caudal: vertebrae T12, L1 .. L5, S1; discs T12-L1 .. L5-S1,
disc ``i`` lying between vertebra ``i`` (above) and vertebra ``i + 1`` (below). T12-L1 is context for the
sagittal decoy and the disc count; the graded levels are L1-L2 .. L5-S1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lib.phantom.curve import Pose, SpineCurve

VERTEBRA_NAMES: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
DISC_NAMES: tuple[str, ...] = ("T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
#: Index in DISC_NAMES of the first graded level (L1-L2).
FIRST_GRADED_DISC = 1


@dataclass(frozen=True)
class Vertebra:
    """A vertebral body: its height along the spine and the half-axes of its axial outline."""

    name: str
    centre_s_mm: float
    height_mm: float
    half_width_mm: float
    half_depth_mm: float


@dataclass(frozen=True)
class FacetJoint:
    """One facet joint at one level; ``severity`` 0..1 is the sampled latent, the rest is what is seen."""

    severity: float
    joint_space_mm: float  # cartilage + fluid between the articular processes, 2-4 mm when normal
    hypertrophy: float  # scale of the articular processes, 1.0 normal .. ~1.6
    osteophyte_mm: float  # radius of marginal osteophytes, 0 when absent
    effusion_mm: float  # width of bright joint fluid beyond the joint line, 0 when absent


@dataclass(frozen=True)
class Foramen:
    """One neural foramen; obliteration fractions are of the perineural fat's depth (0 none .. 1 all)."""

    severity: float
    anterior_obliteration: float  # lateral disc bulge / uncal osteophyte
    posterior_obliteration: float  # superior articular process hypertrophy / osteophyte
    height_loss: float  # superior-inferior narrowing from disc height loss
    root_radius_mm: float


@dataclass(frozen=True)
class DiscLevel:
    """One intervertebral disc level with what degeneration did to it (spine-local millimetres)."""

    name: str
    centre_s_mm: float
    height_mm: float
    tilt_deg: float
    degeneration: float  # 0 healthy .. 1 collapsed, dark disc
    bulge_mm: float  # circumferential posterior bulge beyond the vertebral margin
    protrusion_mm: float  # focal protrusion on top of the bulge
    protrusion_u_mm: float  # lateral centre of the protrusion (+ left)
    sac_half_width_mm: float  # congenital (uncompressed) dural sac half-axes
    sac_half_depth_mm: float
    ligamentum_flavum_mm: float
    epidural_fat_anterior_mm: float
    epidural_fat_posterior_mm: float
    facet_angle_deg: float  # facet joint line angle from the sagittal plane
    facet_left: FacetJoint
    facet_right: FacetJoint
    foramen_left: Foramen
    foramen_right: Foramen
    rootlets_dorsal: tuple[tuple[float, float], ...]  # normalised sac positions when not crowded
    rootlets_spread: tuple[tuple[float, float], ...]  # normalised positions when crowded
    intended_grade: str = "normal"
    target_csa_mm2: float = 0.0
    crowding: float = 0.0  # 0 rootlets layered dorsally with CSF around .. 1 sac filled, no CSF
    sac_centre_shift_mm: float = 0.0  # where the compressed sac's centre moved along v
    sac_scale: float = 1.0  # shrink factor of the compressed sac for rootlet placement


@dataclass(frozen=True)
class BodyHabitus:
    """Outline of the trunk in body coordinates and the soft tissues' sizes."""

    half_width_mm: float
    half_depth_mm: float
    centre_y_mm: float
    posterior_fat_mm: float
    muscle_scale: float
    muscle_fat_fraction: float  # fatty infiltration of the paraspinal muscles, 0..0.5
    psoas_scale: float


@dataclass(frozen=True, eq=False)
class StudyAnatomy:
    """Everything the renderer needs to draw any plane through this patient."""

    size_factor: float
    degeneration: float
    body: BodyHabitus
    vertebrae: tuple[Vertebra, ...]
    discs: tuple[DiscLevel, ...]
    curve: SpineCurve
    pose: Pose
    texture_seed: int
    extra: dict = field(default_factory=dict)

    def disc(self, name: str) -> DiscLevel:
        """The disc level with this name (e.g. ``"L4-L5"``)."""
        return self.discs[DISC_NAMES.index(name)]

    def upper_vertebra(self, disc_index: int) -> Vertebra:
        return self.vertebrae[disc_index]

    def lower_vertebra(self, disc_index: int) -> Vertebra:
        return self.vertebrae[disc_index + 1]
