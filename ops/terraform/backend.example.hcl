# Copy to backend.hcl (not committed) and run: terraform init -backend-config=backend.hcl
# Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
bucket       = "my-terraform-state"
key          = "ctl/terraform.tfstate"
region       = "eu-central-1"
use_lockfile = true
