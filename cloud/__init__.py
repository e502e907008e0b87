"""Run kerasext recipes on Google Cloud: Vertex AI custom jobs and TPU VMs.

`python -m cloud.submit RECIPE ...` (a Vertex AI `CustomJob`), `python -m cloud.tpu_vm RECIPE ...`
(a TPU VM, created and deleted around the run), and `cloud/entrypoint.py` (what the container
runs). See cloud/README.md.
"""
