"""Stage 2: grading central canal stenosis (4 grades), foraminal stenosis and facet arthropathy per level.

Modules (data flows top to bottom):
    structures      the graded regions (canal; foramen and facet per side) and their classifiers
    crops           crops in mm in the anatomical frame, 3 neighbouring slices as channels (numpy/scipy)
    bit             timm BiT classifiers: create (pre-trained file / hub / random), save, load, predict
    canal_tree      the interpretable canal decision tree, with rule paths in words (lib.spine.canal_rules)
    grade           grade_study(series, stage1_result, models) -> grades.json form
    labels          grade labels, GradeLabelStore (JSON file, MONAI Label datastore)
    grade_csv       a radiology team's grade CSV, validated whole (all or nothing)
    dataset         training examples (crops, measurement rows); phantom truth -> stage 1 form and labels
    datastore_samples  the same from the app's datastore
    training, fit   training loops and writing models + cards into model/
    model_files     where the models live, loading them
    settings        GradingSettings, parsed once from MONAI Label's conf
    evaluation      kappa, AUROC, confusion matrices, ROC curves
    experiment      train on phantoms, measure on held-out phantoms (python -m lib.grading.experiment)
"""
