"""Submit a recipe to Vertex AI as a custom training job (CPU, GPU, multi-worker or TPU).

The job is built from the SDK's own types (`google.cloud.aiplatform_v1.types.CustomJob`):
a primary worker pool of one replica and, with `--workers N`, a second pool of N-1 replicas
(Vertex describes them in `CLUSTER_SPEC`, which `kerasext.distribute` translates). Every
replica runs the project's image (cloud/Dockerfile), whose entrypoint runs
`recipes/RECIPE.py` with the recipe flags. `base_output_directory` is set under the bucket,
so Vertex points `AIP_MODEL_DIR`, `AIP_CHECKPOINT_DIR` and `AIP_TENSORBOARD_LOG_DIR` there
and the runner writes the run's files, checkpoints and logs into it. `--dry-run` prints the
job as JSON instead of submitting it; a real submit sends exactly that message.

Run:

    python -m cloud.submit baseline --epochs 5 --project P --region us-central1 --bucket gs://B --dry-run
    python -m cloud.submit train --model resnet --project P --region us-central1 --bucket gs://B \
        --accelerator NVIDIA_TESLA_T4:1
    python -m cloud.submit train --project P --region us-central1 --bucket gs://B --workers 4
    python -m cloud.submit train --project P --region us-central1 --bucket gs://B --tpu v5litepod-8
"""

import sys
import time

from cloud._cli import ArgumentParser, parse_recipe_command

DEFAULT_MACHINE_TYPE = "n1-standard-8"
# The image cloud/cloudbuild.yaml pushes (Artifact Registry repository "kerasext").
IMAGE = "{region}-docker.pkg.dev/{project}/kerasext/{name}:latest"
# Single-host TPU slices Vertex AI custom training offers: type -> (machine type, topology
# or accelerator), from the Vertex AI docs (Use TPUs for training). v2/v3 use the "cloud-tpu" machine with an accelerator; v5e and v6e name
# the slice by machine type and topology.
TPUS = {
    "v2-8": ("cloud-tpu", ("TPU_V2", 8)),
    "v3-8": ("cloud-tpu", ("TPU_V3", 8)),
    "v5litepod-1": ("ct5lp-hightpu-1t", "1x1"),
    "v5litepod-4": ("ct5lp-hightpu-4t", "2x2"),
    "v5litepod-8": ("ct5lp-hightpu-8t", "2x4"),
}  # v6e: no TPU_V6E in aiplatform_v1's AcceleratorType yet (1.165); use cloud.tpu_vm.
# Recipe flags Vertex decides: the output folder is AIP_MODEL_DIR under --bucket.
OWNED_FLAGS = {"--model-dir": "Vertex sets AIP_MODEL_DIR under --bucket"}
CREDENTIALS_HELP = (
    "no Google Cloud credentials found: run `gcloud auth application-default login`, or set "
    "GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
)


def build_parser(prog="python -m cloud.submit"):
    parser = ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0],
        usage=f"{prog} RECIPE [recipe flags] --project P --region R --bucket gs://B [options]",
    )
    parser.add_argument("recipe", help="a recipe name: recipes/RECIPE.py")
    where = parser.add_argument_group("where")
    where.add_argument("--project", help="Google Cloud project id (required)")
    where.add_argument("--region", default="us-central1", help="Vertex AI region (default us-central1)")
    where.add_argument("--bucket", help="gs://BUCKET for the job's outputs (required)")
    shape = parser.add_argument_group("machines")
    shape.add_argument("--machine-type", default=None, help=f"default {DEFAULT_MACHINE_TYPE} (set by --tpu for TPUs)")
    shape.add_argument("--accelerator", default=None, metavar="TYPE[:COUNT]",
                       help="GPUs per replica, e.g. NVIDIA_TESLA_T4:1 (an AcceleratorType name)")
    shape.add_argument("--tpu", default=None, metavar="TYPE", help=f"a TPU slice: {', '.join(TPUS)}")
    shape.add_argument("--workers", type=int, default=1, help="replicas in all (multi-worker when > 1)")
    job = parser.add_argument_group("job")
    job.add_argument("--image", default=None,
                     help="container image (default REGION-docker.pkg.dev/PROJECT/kerasext/train[-gpu|-tpu]:latest)")
    job.add_argument("--job-name", default=None, help="display name (default kerasext-RECIPE-<time>)")
    job.add_argument("--dry-run", action="store_true", help="print the job as JSON; submit nothing")
    return parser


def parse_args(argv=None, parser=None):
    """Splits the command line into cloud flags (`args`) and recipe flags (`args.recipe_flags`).

    Raises:
        ValueError: for bad input (one line, exit 2 at the command line).
    """
    parser = parser or build_parser()
    args = parse_recipe_command(parser, argv, OWNED_FLAGS)
    if args.recipe == "sweep":
        # A local sweep writes many runs into its --model-dir, while Vertex names one run's
        # folder (AIP_MODEL_DIR) and one backup folder (AIP_CHECKPOINT_DIR) for the job.
        raise ValueError(
            "recipe sweep cannot run as one Vertex AI job (its trials would share the job's one "
            "output and checkpoint folder): submit a sweep with python -m cloud.submit_sweep RECIPE "
            "--search-space FILE ... instead"
        )
    if not args.bucket or not args.bucket.startswith("gs://") or len(args.bucket) <= len("gs://"):
        raise ValueError(f"--bucket must be a Cloud Storage URI starting with gs://. Received: {args.bucket!r}")
    args.bucket = args.bucket.rstrip("/")
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1. Received: {args.workers}")
    if args.tpu is not None:
        if args.tpu not in TPUS:
            raise ValueError(f"--tpu must be one of {', '.join(TPUS)}. Received: {args.tpu!r}")
        if args.accelerator:
            raise ValueError("--tpu and --accelerator cannot be combined")
        if args.workers > 1:
            raise ValueError(
                f"--tpu runs on one TPU host: --workers must be 1. Received: --tpu {args.tpu} --workers {args.workers}"
            )
        if args.machine_type:
            raise ValueError(f"--machine-type is set by --tpu ({TPUS[args.tpu][0]}); drop it")
    args.accelerator = parse_accelerator(args.accelerator)
    args.machine_type = args.machine_type or DEFAULT_MACHINE_TYPE
    args.job_name = args.job_name or f"kerasext-{args.recipe.replace('_', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    if args.image is None:
        name = "train-tpu" if args.tpu else "train-gpu" if args.accelerator else "train"
        args.image = IMAGE.format(region=args.region, project=args.project, name=name)
    return args


def parse_accelerator(text):
    """`"NVIDIA_TESLA_T4:2"` -> `("NVIDIA_TESLA_T4", 2)`; the count defaults to 1; `None` passes."""
    if text is None:
        return None
    from google.cloud.aiplatform_v1.types import AcceleratorType

    kind, _, count = text.partition(":")
    known = [a for a in AcceleratorType.__members__ if a != "ACCELERATOR_TYPE_UNSPECIFIED" and not a.startswith("TPU")]
    if kind not in known:
        raise ValueError(
            f"--accelerator type must be an AcceleratorType GPU name ({', '.join(known)}; "
            f"TPUs go by --tpu). Received: {kind!r}"
        )
    try:
        count = int(count or 1)
    except ValueError:
        raise ValueError(f"--accelerator count must be an integer >= 1. Received: {text!r}") from None
    if count < 1:
        raise ValueError(f"--accelerator count must be >= 1. Received: {text!r}")
    return kind, count


def output_dir(args):
    """The job's base output directory: `gs://B/kerasext/RECIPE/JOB_NAME`."""
    return f"{args.bucket}/kerasext/{args.recipe}/{args.job_name}"


def machine_spec(args):
    from google.cloud.aiplatform_v1 import types

    if args.tpu:
        machine, detail = TPUS[args.tpu]
        if isinstance(detail, tuple):
            return types.MachineSpec(machine_type=machine, accelerator_type=detail[0], accelerator_count=detail[1])
        return types.MachineSpec(machine_type=machine, tpu_topology=detail)
    if args.accelerator:
        kind, count = args.accelerator
        return types.MachineSpec(machine_type=args.machine_type, accelerator_type=kind, accelerator_count=count)
    return types.MachineSpec(machine_type=args.machine_type)


def build_job(args):
    """The `aiplatform_v1.types.CustomJob` for parsed `args`: what `--dry-run` prints."""
    from google.cloud.aiplatform_v1 import types

    def pool(replicas):
        return types.WorkerPoolSpec(
            machine_spec=machine_spec(args),
            replica_count=replicas,
            container_spec=types.ContainerSpec(
                image_uri=args.image, args=[args.recipe, *args.recipe_flags]
            ),
        )

    pools = [pool(1)] + ([pool(args.workers - 1)] if args.workers > 1 else [])
    spec = types.CustomJobSpec(
        worker_pool_specs=pools,
        base_output_directory=types.GcsDestination(output_uri_prefix=output_dir(args)),
    )
    return types.CustomJob(display_name=args.job_name, job_spec=spec)


def to_json(job):
    """The job as JSON through the SDK's own proto serializer: the REST body Vertex AI takes
    (camelCase names, enums by name, unset fields left out)."""
    return type(job).to_json(
        job, use_integers_for_enums=False, always_print_fields_with_no_presence=False, indent=2
    )


def job_service(region):
    """A `JobServiceClient` for `region` with the default credentials.

    Raises:
        google.auth.exceptions.DefaultCredentialsError: without credentials.
    """
    import google.auth
    from google.cloud import aiplatform_v1

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return aiplatform_v1.JobServiceClient(
        credentials=credentials,
        client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"},
    )


def print_or_submit(parser, args, job, create):
    """Prints `job` (`--dry-run`) or sends it with `create(client, parent, job)`; returns the exit code.

    Missing credentials are one line on stderr and exit 2; a refusal by Vertex, one line and 1.
    """
    if args.dry_run:
        print(to_json(job))
        return 0
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    try:
        created = create(job_service(args.region), f"projects/{args.project}/locations/{args.region}", job)
    except auth_exceptions.DefaultCredentialsError:
        parser.error(CREDENTIALS_HELP)
    except (auth_exceptions.GoogleAuthError, api_exceptions.GoogleAPIError) as error:
        sys.stderr.write(f"{parser.prog}: error: Vertex AI refused the job: {' '.join(str(error).split())}\n")
        return 1
    print(f"submitted {created.name}")
    print(f"outputs: {output_dir(args)}")
    print(f"console: https://console.cloud.google.com/vertex-ai/training/custom-jobs?project={args.project}")
    return 0


def main(argv=None):
    parser = build_parser()
    try:
        args = parse_args(argv, parser)
    except ValueError as error:
        parser.error(error)
    return print_or_submit(
        parser, args, build_job(args),
        lambda client, parent, job: client.create_custom_job(parent=parent, custom_job=job),
    )


if __name__ == "__main__":
    sys.exit(main())
