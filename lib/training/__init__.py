"""Training the app's models outside the server.

``train_all`` (``make models``, ``scripts/train.py``) runs each model's own MONAI Label train task on a phantom
datastore; ``offline_segmentation`` (``scripts/train_offline.py``) trains the V-Net on a GPU node or under
torch.distributed without MONAI Label, with the same recipe (``segmentation_recipe``) as the server's train task.
"""
