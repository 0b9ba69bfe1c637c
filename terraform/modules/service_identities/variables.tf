variable "project_id" {
  type        = string
  description = "Project of the service accounts."
}

variable "accounts" {
  type = map(object({
    description   = string
    project_roles = list(string)
  }))
  description = "Account id to its description and the project-level roles it needs (resource-level grants live beside the resources)."
}
