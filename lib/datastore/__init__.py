"""Datastores: a folder of DICOM studies served to MONAI Label as one work image per study."""
