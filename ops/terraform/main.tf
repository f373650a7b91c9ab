module "vps" {
  source = "./modules/vps"

  name            = var.name
  server_type     = var.server_type
  location        = var.location
  image           = var.image
  ssh_public_keys = var.ssh_public_keys
  ssh_source_ips  = var.ssh_source_ips
  data_volume_gb  = var.data_volume_gb
}
