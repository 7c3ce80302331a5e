# cisflow: reads (or simulations) → labels → trained, evaluated and interpreted sequence models.
# Wiring only: every rule lives in workflow/rules/, every computation in src/cisflow/.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
import cisflow

# a cisflow imported before this Snakefile (another checkout's) would plan the jobs with another library
if (
    Path(cisflow.__file__).parent.resolve()
    != Path(workflow.basedir, "src", "cisflow").resolve()
):
    raise WorkflowError(
        f"this process imported the cisflow library in {Path(cisflow.__file__).parent} before the workflow "
        f"in {workflow.basedir}, whose jobs run its own src/cisflow; start Snakemake in a fresh process"
    )
from cisflow.config import check_inputs, validate_config

# The bundled demo, unless --configfile names another (then that one alone is used, not merged);
# --config KEY=VALUE settings apply on top of either (e.g. --config seed=2 on the demo).
if not workflow.configfiles:

    configfile: "config/config.yaml"


# messages name the config file (the last one given; "config" for --config values alone)
CONFIG_SOURCE = workflow.configfiles[-1] if workflow.configfiles else "config"
validate_config(config, CONFIG_SOURCE)
check_inputs(config, CONFIG_SOURCE)


include: "workflow/rules/common.smk"


if config["track"] == "simulation":

    include: "workflow/rules/simulate.smk"

else:

    include: "workflow/rules/reads.smk"
    include: "workflow/rules/peaks.smk"
    include: "workflow/rules/labels.smk"
    include: "workflow/rules/splits.smk"
    include: "workflow/rules/dream.smk"
    include: "workflow/rules/denoise.smk"
    include: "workflow/rules/qc.smk"
    include: "workflow/rules/profile.smk"


include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/motifs.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        all_outputs(),
