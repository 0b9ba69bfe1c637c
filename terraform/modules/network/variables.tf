variable "project_id" {
  type        = string
  description = "Project of the network."
}

variable "region" {
  type        = string
  description = "Region of the Dataflow subnetwork (the pipelines' region)."
}

variable "name" {
  type        = string
  description = "Name of the VPC network; the subnetwork is NAME-REGION."
  default     = "experiments-dataflow"
}

variable "cidr" {
  type        = string
  description = "IPv4 range of the subnetwork (Dataflow workers only)."
  default     = "10.20.0.0/20"
}
