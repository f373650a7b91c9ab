# The VPS for ctl, on Hetzner Cloud, with Terraform state in S3 (or any
# S3-compatible store). The backend's settings live outside the code:
#   terraform init -backend-config=backend.hcl
# with backend.hcl holding bucket, key, region (and, for a non-AWS store,
# endpoints.s3 and use_path_style). See docs/deploy.md.
terraform {
  required_version = ">= 1.6"

  backend "s3" {}

  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.52"
    }
  }
}

# The token comes from HCLOUD_TOKEN in the environment, never from a file
# in the repository.
provider "hcloud" {}
