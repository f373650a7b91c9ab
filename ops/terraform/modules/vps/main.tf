# One VPS for ctl: SSH open to the given networks, nothing else (the web
# traffic arrives through a Cloudflare tunnel, which dials out), and an
# optional volume for the data directory. Everything else on the host is
# done by the Ansible role in ops/ansible.
terraform {
  required_providers {
    hcloud = {
      source = "hetznercloud/hcloud"
    }
  }
}

resource "hcloud_ssh_key" "admin" {
  count      = length(var.ssh_public_keys)
  name       = "${var.name}-admin-${count.index}"
  public_key = var.ssh_public_keys[count.index]
}

resource "hcloud_firewall" "ssh_only" {
  name = "${var.name}-ssh-only"

  rule {
    description = "SSH for administration and Ansible"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.ssh_source_ips
  }
}

resource "hcloud_server" "ctl" {
  name         = var.name
  server_type  = var.server_type
  location     = var.location
  image        = var.image
  ssh_keys     = hcloud_ssh_key.admin[*].id
  firewall_ids = [hcloud_firewall.ssh_only.id]
  user_data    = file("${path.module}/cloud-init.yaml")

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  labels = {
    app = "ctl"
  }
}

resource "hcloud_volume" "data" {
  count    = var.data_volume_gb > 0 ? 1 : 0
  name     = "${var.name}-data"
  size     = var.data_volume_gb
  location = var.location
  format   = "ext4"
}

resource "hcloud_volume_attachment" "data" {
  count     = var.data_volume_gb > 0 ? 1 : 0
  volume_id = hcloud_volume.data[0].id
  server_id = hcloud_server.ctl.id
  automount = false
}
