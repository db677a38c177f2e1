"""Pixel data of the chosen series: decoded, checked against the header and rescaled to float32.

* Rescale: ``value = stored * RescaleSlope + RescaleIntercept`` (per frame for Enhanced MR). Philips' private
  scale slope (2005,100E), which turns displayed values into quantitative ones, is deliberately NOT applied:
  T2 intensities are relative, and the displayed value is what a reader and every other tool sees.
* Compressed transfer syntaxes are decoded by whichever pydicom handler is installed (pylibjpeg with its
  libjpeg/openjpeg/rle plugins, GDCM, Pillow); when none can, the error names the transfer syntax.
* Photometric interpretation is taken as is (MR images are MONOCHROME2 in practice; MONOCHROME1 is not inverted).
* A file whose pixel data is cut short, absent or undecodable is reported per file, so that the caller can drop
  that slice with a warning and keep the rest of the series.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom import config
from pydicom.uid import UID

from lib.dicom.headers import ImageHeader


class UndecodableTransferSyntax(Exception):
    """No installed pixel data handler can decode this transfer syntax."""

    def __init__(self, transfer_syntax_uid: str, file: Path):
        self.transfer_syntax_uid = transfer_syntax_uid
        self.file = file
        super().__init__(undecodable_reason(transfer_syntax_uid))


class PixelReadError(Exception):
    """The pixel data of one file or frame cannot be used; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PlaneFailure:
    """An image plane whose pixels could not be read, and why."""

    header: ImageHeader
    reason: str


def transfer_syntax_name(uid: str) -> str:
    """``JPEG 2000 Image Compression (Lossless Only) (1.2.840.10008.1.2.4.90)``, or the bare UID if unknown."""
    name = UID(uid).name if uid else "unknown transfer syntax"
    return f"{name} ({uid})" if name != uid else uid


def can_decode(transfer_syntax_uid: str) -> bool:
    """True when an installed pydicom pixel data handler supports and can decode this transfer syntax."""
    uid = UID(transfer_syntax_uid)
    return any(h.supports_transfer_syntax(uid) and h.is_available() for h in config.pixel_data_handlers)


def undecodable_reason(transfer_syntax_uid: str) -> str:
    """The message for a transfer syntax that no installed handler decodes."""
    return (
        f"compressed transfer syntax {transfer_syntax_name(transfer_syntax_uid)} cannot be decoded: no pixel data "
        "handler for it is installed (install pylibjpeg with pylibjpeg-libjpeg, pylibjpeg-openjpeg and "
        "pylibjpeg-rle, or python-gdcm)"
    )


def read_planes(headers: list[ImageHeader]) -> tuple[dict[tuple[str, int | None], np.ndarray], list[PlaneFailure]]:
    """Float32 pixels of each plane, keyed by ``header.key``, and the planes that could not be read.

    Each file is read once, however many frames of it are wanted. Raises UndecodableTransferSyntax when a
    file's transfer syntax has no decoder, since then no file of the series will decode either.
    """
    by_file: dict[Path, list[ImageHeader]] = {}
    for header in headers:
        by_file.setdefault(header.path, []).append(header)
    pixels: dict[tuple[str, int | None], np.ndarray] = {}
    failures: list[PlaneFailure] = []
    for path, planes in by_file.items():
        if not can_decode(planes[0].transfer_syntax_uid):
            raise UndecodableTransferSyntax(planes[0].transfer_syntax_uid, path)
        try:
            stored = read_stored_pixels(path)
        except PixelReadError as exc:
            failures.extend(PlaneFailure(h, exc.reason) for h in planes)
            continue
        for header in planes:
            try:
                pixels[header.key] = _plane(stored, header)
            except PixelReadError as exc:
                failures.append(PlaneFailure(header, exc.reason))
    return pixels, failures


def read_stored_pixels(path: Path) -> np.ndarray:
    """The decoded stored values of a file: (rows, cols), or (frames, rows, cols) for multi-frame."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
            if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
                raise PixelReadError("no pixel data in the file (truncated?)")
            return np.asarray(ds.pixel_array)
    except PixelReadError:
        raise
    except ValueError as exc:
        message = str(exc)
        if "length" in message and "match" in message:
            raise PixelReadError(f"truncated pixel data: {message.split('. ')[0]}") from exc
        raise PixelReadError(f"pixel data could not be decoded: {message[:200]}") from exc
    except Exception as exc:  # decoders raise many kinds on corrupt streams
        raise PixelReadError(f"pixel data could not be decoded ({type(exc).__name__}: {str(exc)[:200]})") from exc


def _plane(stored: np.ndarray, header: ImageHeader) -> np.ndarray:
    """One plane of ``stored``, checked against the header's size and rescaled to float32."""
    plane = stored
    if header.frame is not None and stored.ndim == 3:
        if header.frame >= stored.shape[0]:
            raise PixelReadError(f"frame {header.frame + 1} missing from the pixel data ({stored.shape[0]} frames)")
        plane = stored[header.frame]
    if plane.shape != (header.rows, header.columns):
        raise PixelReadError(f"pixel array shape {plane.shape} does not match Rows x Columns "
                             f"{header.rows} x {header.columns}")
    values = plane.astype(np.float32)
    if header.rescale_slope != 1.0 or header.rescale_intercept != 0.0:
        values = values * np.float32(header.rescale_slope) + np.float32(header.rescale_intercept)
    return values
