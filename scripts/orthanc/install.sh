#!/usr/bin/env bash
# Install Orthanc and its DICOMweb plugin from Debian's packages where missing (idempotent, quick when present).
set -euo pipefail
if command -v Orthanc >/dev/null 2>&1 && [ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends orthanc orthanc-dicomweb >/dev/null
# Debian's package registers a service; this project runs Orthanc itself with the repository's configuration.
