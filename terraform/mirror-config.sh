#!/usr/bin/env bash
# Write a Terraform CLI configuration that installs registry.terraform.io providers from the
# local filesystem mirror on this machine, and print its path.
#
#   export TF_CLI_CONFIG_FILE="$(bash terraform/mirror-config.sh)"
#   bash terraform/mirror-config.sh /path/to/terraform.rc
#
# The mirror is the folder holding `registry.terraform.io/`; it is discovered, never assumed.
set -euo pipefail

# Plugin caches and working directories hold the same layout: skip them, and prefer a folder that
# really holds provider packages (not symlinks into another mirror).
mirror_dir=""
while IFS= read -r candidate; do
  if find "$candidate" -type f -name 'terraform-provider-*' -print -quit 2>/dev/null | grep -q .; then
    mirror_dir="$candidate"
    break
  fi
done < <(find / -xdev -type d -name registry.terraform.io -not -path '*/.terraform/*' \
  -not -path '*/plugin-cache/*' -not -path '/tmp/pytest-of-*' -not -path '/proc/*' 2>/dev/null || true)
if [[ -z "$mirror_dir" ]]; then
  echo "mirror-config.sh: no Terraform provider mirror found (no 'registry.terraform.io' folder on this filesystem)" >&2
  exit 1
fi
mirror_root="$(dirname "$mirror_dir")"

if [[ $# -ge 1 && -n "$1" ]]; then
  config_file="$1"
else
  config_file="$(mktemp "${TMPDIR:-/tmp}/terraform-mirror.XXXXXX")"
fi

cat >"$config_file" <<HCL
provider_installation {
  filesystem_mirror {
    path    = "$mirror_root"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
HCL

echo "$config_file"
