output "ipv4_address" {
  description = "The server's public IPv4 address."
  value       = hcloud_server.ctl.ipv4_address
}

output "ipv6_address" {
  description = "The server's public IPv6 address."
  value       = hcloud_server.ctl.ipv6_address
}

output "data_volume_device" {
  description = "The data volume's device path, to mount at /var/lib/ctl (null when there is none)."
  value       = var.data_volume_gb > 0 ? hcloud_volume.data[0].linux_device : null
}
