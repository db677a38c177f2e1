# Two commands on a fresh machine: `make serve` and `make test` (README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
PHANTOMS := datasets/phantoms
TRAIN_PHANTOMS := datasets/train_phantoms
TREE_PHANTOMS := datasets/tree_phantoms
HOST := 127.0.0.1
PORT := 8000
export MONAI_LABEL_TRACKING_ENABLED := false

.PHONY: venv phantoms models canal-tree serve test bench evaluate evaluate-heldout clean-datasets

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

# The default datastore: ~20 synthetic phantom studies (generated once).
phantoms: venv
	@test -d $(PHANTOMS)/dicom || $(PY) scripts/make_phantoms.py --out $(PHANTOMS) --n 20 --seed 1 --preview

# Train the models whose weights are missing from model/ (the V-Net ships GPU-trained; see README) from separate
# training phantoms (generated if absent). Retrain one on purpose with scripts/train.py --models NAME.
# The canal BiT learns from the canal tree's 200 phantoms (seed 9000, generated once: ~10 min), the others from 24:
# on 500 held-out levels the canal BiT graded kappa 0.758 after 18 training studies and 0.834 after 156 (README).
# The `test -f` keeps a present canal BiT from generating those 200 phantoms (train.py makes its data first).
models: venv
	@test -f model/grading_canal.pt || $(PY) scripts/train.py --data $(TREE_PHANTOMS) --n 200 --seed 9000 --model-dir model \
		--models grading --conf grading_structures canal --conf grading_max_minutes 10
	$(PY) scripts/train.py --data $(TRAIN_PHANTOMS) --model-dir model --missing-only --conf grading_max_minutes 4 \
		--conf grading_structures foramen,facet

# Refit the shipped canal tree on 200 phantoms (seed 9000), from stage 1 as the shipped V-Net serves it: about 10 min
# on 2 CPU cores, almost all of it stage 1 (the first run also generates and ingests the 200 studies). Rerun after
# retraining the V-Net: the tree's thresholds follow its masks.
canal-tree: venv
	$(PY) scripts/train.py --data $(TREE_PHANTOMS) --n 200 --seed 9000 --model-dir model --models canal_tree

serve: venv phantoms
	@$(MAKE) --no-print-directory models
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/monailabel start_server --app . --studies $(PHANTOMS)/dicom --host $(HOST) --port $(PORT) \
		--conf models all

# The same app on a local Orthanc (DICOMweb): installs Orthanc where missing (Debian packages), uploads the phantom
# studies, then MONAI Label on http://$(HOST):$(PORT) with --studies http://127.0.0.1:$(ORTHANC_PORT)/dicom-web.
ORTHANC_PORT := 8042
.PHONY: serve-pacs
serve-pacs: venv phantoms
	@$(MAKE) --no-print-directory models
	scripts/orthanc/install.sh
	$(PY) scripts/serve_pacs.py --studies $(PHANTOMS)/dicom --orthanc-port $(ORTHANC_PORT) --host $(HOST) --port $(PORT)

test: venv
	$(PY) -m pytest tests -q -p no:cacheprovider

bench: venv
	$(PY) scripts/bench_phantoms.py --n 30
	$(PY) scripts/benchmark_stage1.py

# Held-out phantoms (seed 2; training uses 1000, the shipped V-Net 5000/6000, the served datastore 1).
evaluate: venv
	@test -d datasets/eval_phantoms/dicom || $(PY) scripts/make_phantoms.py --out datasets/eval_phantoms --n 16 --seed 2
	$(PY) scripts/evaluate.py --data datasets/eval_phantoms --out reports/evaluation

# The steadier figures: 100 other held-out phantoms (seed 3, 500 levels; generated once, ~5 min), ~10 min to evaluate.
evaluate-heldout: venv
	@test -d datasets/heldout_phantoms/dicom || $(PY) scripts/make_phantoms.py --out datasets/heldout_phantoms --n 100 --seed 3
	$(PY) scripts/evaluate.py --data datasets/heldout_phantoms --out reports/evaluation_heldout
