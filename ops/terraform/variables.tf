variable "name" {
  description = "Name of the server and its resources."
  type        = string
  default     = "ctl"
}

variable "server_type" {
  description = "Hetzner server type; 2 vCPUs and 4 GB run ctl serve, a worker and Alloy."
  type        = string
  default     = "cx22"
}

variable "location" {
  description = "Hetzner location."
  type        = string
  default     = "nbg1"
}

variable "image" {
  description = "OS image; the Ansible role supports Debian and Ubuntu."
  type        = string
  default     = "debian-12"
}

variable "ssh_public_keys" {
  description = "SSH public keys allowed to log in as root (Ansible uses them)."
  type        = list(string)
}

variable "ssh_source_ips" {
  description = "Networks allowed to reach SSH. Nothing else is open: the web traffic comes through the tunnel."
  type        = list(string)
  default     = ["0.0.0.0/0", "::/0"]
}

variable "data_volume_gb" {
  description = "Size of the volume mounted at /var/lib/ctl (the data directory); 0 keeps it on the root disk."
  type        = number
  default     = 20
}
