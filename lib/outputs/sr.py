"""The grades of a study as a DICOM Comprehensive SR (TID 1500 Measurement Report), built with highdicom 0.22.

Content, per graded level:
- one TID 1501 measurement group (tracking identifier ``"<level> grades"``, finding site = the level, source image =
  the mid-disc slice) with qualitative evaluations (central canal grade by BiT and by the tree, foramen stenosis and
  facet arthropathy per side), numeric measurements (dural sac and disc area in mm2, AP diameters in mm, ratios and
  finding probabilities unitless, UCUM units) and the tree's rule as a TEXT item;
- one TID 1410 planar ROI group per landmark (tracking identifier ``"<level> <landmark>"``) holding a 2D POINT SCOORD
  on the mid-disc image. SCOORD is (column, row) with (0, 0) at the top-left corner of the top-left pixel, so a pixel
  centre at index (r, c) is written (c + 0.5, r + 0.5).

Comprehensive SR with 2D coordinates (not Comprehensive 3D SR) because that is what the bundled OHIF displays.
Grades use SNOMED CT severity and presence values; concepts with no standard code use the private scheme ``99LSPINE``.
The SR joins the imaged study (patient and study attributes come from the referenced images) as a new series.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import highdicom as hd
import numpy as np
import pydicom
from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from lib.spine.geometry import SliceGeometry

SCHEME = "99LSPINE"
DEVICE_NAME = "lumbar-spine-grading"
SR_SERIES_NUMBER = 9901


def _c(value: str, meaning: str, scheme: str = SCHEME) -> CodedConcept:
    return CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


GRADE_CODES = {
    "normal": _c("17621005", "Normal", "SCT"),
    "mild": _c("255604002", "Mild", "SCT"),
    "moderate": _c("6736007", "Moderate", "SCT"),
    "severe": _c("24484000", "Severe", "SCT"),
}
PRESENT, ABSENT = _c("52101004", "Present", "SCT"), _c("2667000", "Absent", "SCT")
LATERALITY = {"left": _c("7771000", "Left", "SCT"), "right": _c("24028007", "Right", "SCT")}
CANAL_BIT = _c("CANAL-BIT", "Central canal stenosis grade (BiT classifier)")
CANAL_TREE = _c("CANAL-TREE", "Central canal stenosis grade (decision tree)")
TREE_RULE = _c("TREE-RULE", "Central canal decision tree rule")
FINDINGS = {
    "foramen_left": _c("FORAMEN-L", "Left neural foraminal stenosis"),
    "foramen_right": _c("FORAMEN-R", "Right neural foraminal stenosis"),
    "facet_left": _c("FACET-L", "Left facet arthropathy"),
    "facet_right": _c("FACET-R", "Right facet arthropathy"),
}
PROBABILITY = {k: _c(f"P-{v.value}", f"Probability of {v.meaning.lower()}") for k, v in FINDINGS.items()}
UNITS = {
    "mm2": _c("mm2", "square millimeter", "UCUM"),
    "mm": _c("mm", "millimeter", "UCUM"),
    "1": _c("1", "no units", "UCUM"),
}
MEASUREMENTS = {  # key in grades.json -> (concept, UCUM unit)
    "dural_sac_area_mm2": (_c("DURAL-SAC-AREA", "Dural sac cross-sectional area"), "mm2"),
    "disc_area_mm2": (_c("DISC-AREA", "Intervertebral disc cross-sectional area"), "mm2"),
    "dural_sac_ap_mm": (_c("DURAL-SAC-AP", "Dural sac anteroposterior diameter"), "mm"),
    "disc_ap_mm": (_c("DISC-AP", "Intervertebral disc anteroposterior diameter"), "mm"),
    "area_ratio": (_c("AREA-RATIO", "Dural sac to disc area ratio"), "1"),
    "ap_ratio": (_c("AP-RATIO", "Dural sac to disc AP diameter ratio"), "1"),
}
LANDMARK_TYPES = {
    "facet_left": (_c("FACET-JOINT", "Facet joint"), "left"),
    "facet_right": (_c("FACET-JOINT", "Facet joint"), "right"),
    "foramen_left": (_c("NEURAL-FORAMEN", "Neural foramen"), "left"),
    "foramen_right": (_c("NEURAL-FORAMEN", "Neural foramen"), "right"),
    "dural_sac_centroid": (_c("DURAL-SAC-CENTROID", "Dural sac centroid"), None),
    "disc_centroid": (_c("DISC-CENTROID", "Intervertebral disc centroid"), None),
}


def level_code(level: str) -> CodedConcept:
    return _c(level, f"{level} intervertebral disc level")


def _site(level: str, side: str | None = None) -> hd.sr.FindingSite:
    return hd.sr.FindingSite(anatomic_location=level_code(level), laterality=LATERALITY[side] if side else None)


def _level_group(level: str, entry: dict, source: Dataset, algorithm) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    canal = entry["central_canal"]
    evaluations = [hd.sr.QualitativeEvaluation(CANAL_BIT, GRADE_CODES[canal["grade"]]),
                   hd.sr.QualitativeEvaluation(CANAL_TREE, GRADE_CODES[canal["tree_grade"]])]
    measurements = [hd.sr.Measurement(name=concept, value=float(entry["measurements"][key]), unit=UNITS[unit])
                    for key, (concept, unit) in MEASUREMENTS.items() if entry["measurements"].get(key) is not None]
    for region, concept in FINDINGS.items():
        finding = next(v for k, v in entry[region].items() if k != "probability")
        evaluations.append(hd.sr.QualitativeEvaluation(concept, PRESENT if finding else ABSENT))
        measurements.append(hd.sr.Measurement(PROBABILITY[region], float(entry[region]["probability"]), UNITS["1"]))
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"{level} grades"),
        algorithm_id=algorithm,
        finding_sites=[_site(level)],
        measurements=measurements,
        qualitative_evaluations=evaluations,
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
    )
    group[0].ContentSequence.append(
        hd.sr.TextContentItem(name=TREE_RULE, value=canal["tree_rule"][:1024], relationship_type="CONTAINS")
    )
    return group


def _landmark_groups(level: str, entry: dict, source: Dataset, geometry: SliceGeometry, algorithm) -> list:
    groups = []
    for name, point in entry["landmarks_lps_mm"].items():
        if name not in LANDMARK_TYPES:
            continue
        finding_type, side = LANDMARK_TYPES[name]
        row, col, _ = geometry.lps_to_pixel(point)
        region = hd.sr.ImageRegion(
            graphic_type=hd.sr.GraphicTypeValues.POINT,
            graphic_data=np.array([[col + 0.5, row + 0.5]]),
            source_image=hd.sr.SourceImageForRegion.from_source_image(source),
        )
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"{level} {name}"),
            referenced_region=region, finding_type=finding_type, finding_sites=[_site(level, side)],
            algorithm_id=algorithm,
        ))
    return groups


def build_grades_sr(
    grades: dict,
    evidence: dict[str, Dataset],
    geometries: dict[str, SliceGeometry],
    series_number: int = SR_SERIES_NUMBER,
    manufacturer: str = "lumbar-spine MONAI Label app",
) -> hd.sr.ComprehensiveSR:
    """A Comprehensive SR of ``grades`` (grades.json form). ``evidence`` maps each level's ``slice_sop_uid`` to that
    image's header (pydicom Dataset, pixels not needed); ``geometries`` maps it to its SliceGeometry."""
    versions = ", ".join(f"{k} {v}" for k, v in sorted(grades.get("models", {}).items()))
    algorithm = hd.sr.AlgorithmIdentification(name=DEVICE_NAME, version=versions[:64] or "unknown")
    device = hd.sr.DeviceObserverIdentifyingAttributes(uid=generate_uid(), name=DEVICE_NAME)
    context = hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(codes.cid270.Device, device)
    )
    groups = []
    for level, entry in grades["levels"].items():
        source = evidence[entry["slice_sop_uid"]]
        groups.append(_level_group(level, entry, source, algorithm))
        groups += _landmark_groups(level, entry, source, geometries[entry["slice_sop_uid"]], algorithm)
    report = hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=_c("113091000", "Magnetic resonance imaging", "SCT"),
        imaging_measurements=groups,
    )
    sr = hd.sr.ComprehensiveSR(
        evidence=list({ds.SOPInstanceUID: ds for ds in evidence.values()}.values()),
        content=report,
        series_instance_uid=generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=manufacturer,
        series_description="Lumbar spine stenosis grades",
        is_complete=True,
    )
    sr.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: patient and study text copied from the images may need it
    return sr


def series_evidence(series: Any, grades: dict) -> tuple[dict[str, Dataset], dict[str, SliceGeometry]]:
    """Headers and geometries of the mid-disc slices the grades refer to, read from the series' files."""
    wanted = {e["slice_sop_uid"] for e in grades["levels"].values()}
    evidence, geometries = {}, {}
    for s in series.slices:
        uid = str(s.sop_instance_uid)
        if uid in wanted and uid not in evidence:
            evidence[uid] = pydicom.dcmread(str(s.file_path), stop_before_pixels=True)
            geometries[uid] = s.geometry
    missing = wanted - set(evidence)
    if missing:
        raise KeyError(f"grades refer to slices not in the series: {sorted(missing)}")
    return evidence, geometries


def write_grades_sr(path: str | Path, grades: dict, series: Any, **kwargs) -> Path:
    """Build the SR from the series' own files and write it (``path``: a file, or a folder for ``grades_sr.dcm``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "grades_sr.dcm"
    evidence, geometries = series_evidence(series, grades)
    sr = build_grades_sr(grades, evidence, geometries, **kwargs)
    tmp = path.with_name(path.name + ".tmp")
    sr.save_as(str(tmp))
    tmp.replace(path)
    return path


def read_grades_sr(path: str | Path) -> dict[str, Any]:
    """What an SR written here says, read back with highdicom: referenced study/series/instances, and per level the
    grades, measurements, tree rule and landmark points (SCOORD column, row)."""
    ds = pydicom.dcmread(str(path))
    sr = hd.sr.ComprehensiveSR.from_dataset(ds)
    refs = [(s.SeriesInstanceUID, i.ReferencedSOPInstanceUID)
            for study in ds.CurrentRequestedProcedureEvidenceSequence for s in study.ReferencedSeriesSequence
            for i in s.ReferencedSOPSequence]
    levels: dict[str, dict] = {}
    for group in sr.content.get_image_measurement_groups():
        level = group.tracking_identifier.replace(" grades", "")
        out = levels.setdefault(level, {})
        for ev in group.get_qualitative_evaluations():
            out[_key_of(ev.name)] = _value_of(ev.value)
        out["measurements"] = {_key_of(m.name): float(m.value) for m in group.get_measurements()}
        out["tree_rule"] = next((str(i.TextValue) for i in group[0].ContentSequence if i.ValueType == "TEXT"
                                 and i.ConceptNameCodeSequence[0].CodeValue == TREE_RULE.value), None)
        out["source_sop_uids"] = [s.referenced_sop_instance_uid for s in group.source_images]
    for group in sr.content.get_planar_roi_measurement_groups():
        level, name = group.tracking_identifier.split(" ", 1)
        levels.setdefault(level, {}).setdefault("landmarks_scoord", {})[name] = {
            "point": [float(v) for v in group.roi.value[0]],
            "sop_uid": group.roi.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID,
        }
    return {
        "study_uid": ds.StudyInstanceUID,
        "sop_class_uid": ds.SOPClassUID,
        "referenced_series_uids": sorted({r[0] for r in refs}),
        "referenced_sop_uids": sorted({r[1] for r in refs}),
        "levels": levels,
    }


_KEY_BY_CODE = {CANAL_BIT.value: "central_canal", CANAL_TREE.value: "central_canal_tree",
                **{c.value: k for k, c in FINDINGS.items()}, **{c.value: f"p_{k}" for k, c in PROBABILITY.items()},
                **{c.value: k for k, (c, _) in MEASUREMENTS.items()}}
_VALUE_BY_CODE = {**{c.value: g for g, c in GRADE_CODES.items()}, PRESENT.value: True, ABSENT.value: False}


def _key_of(concept) -> str:
    return _KEY_BY_CODE.get(concept.value, concept.meaning)


def _value_of(concept):
    return _VALUE_BY_CODE.get(concept.value, concept.meaning)
