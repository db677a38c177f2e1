"""The app on a DICOMweb PACS (Orthanc): datastore, DICOM SEG of final labels, per-block series for OHIF.

``main.py`` picks it for ``--studies http(s)://...``::

    from lib.pacs import pacs_datastore
    ...
    if self.studies.startswith(("http://", "https://")):
        return pacs_datastore(self.studies, self.conf)

Settings: ``--conf pacs_<field> VALUE`` (``lib.pacs.settings.PacsSettings``). Unlike MONAI Label's own DICOMweb
datastore this downloads nothing at start-up (no dcmqi: SEG is written with highdicom), serves only the axial T2
series (angled ones per block) and bounds every PACS request.
"""
from __future__ import annotations

import logging
import sys

from lib.pacs.client import PacsClient, PacsUnavailable
from lib.pacs.datastore import PacsDatastore
from lib.pacs.settings import PacsSettings, default_cache_dir
from lib.pacs.work_items import block_image_id, parse_block_id

logger = logging.getLogger(__name__)


def pacs_datastore(studies_url: str, conf: dict[str, str] | None = None) -> PacsDatastore:
    """The PACS datastore for ``studies_url`` (a DICOMweb root), with the block-aware proxy when a server runs."""
    settings = PacsSettings.from_conf(conf)
    url = studies_url.rstrip("/").strip()
    store = PacsDatastore(url, PacsClient(url, settings), settings, default_cache_dir(url, settings))
    server = sys.modules.get("monailabel.app")  # absent in train/batch-infer subprocesses: no routes there
    if server is not None:
        from monailabel.config import settings as ml_settings

        from lib.pacs.proxy import install_proxy

        install_proxy(server.app, store, settings.timeout, ml_settings.MONAI_LABEL_API_STR)
    return store


__all__ = ["PacsClient", "PacsDatastore", "PacsSettings", "PacsUnavailable", "block_image_id", "pacs_datastore",
           "parse_block_id"]
