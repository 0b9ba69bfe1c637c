variable "project_id" {
  type        = string
  description = "Project of the repository."
}

variable "location" {
  type        = string
  description = "Repository region (the Cloud Run and Vertex AI region)."
}

variable "repository_id" {
  type        = string
  description = "Docker repository holding the five service images, the TFX pipeline image, the compiler image and the MLflow image."
  default     = "experiments-platform"
}

variable "readers" {
  type        = list(string)
  description = "IAM members that pull images (Cloud Build, Vertex AI pipeline and Cloud Run identities)."
  default     = []
}

variable "keep_recent_versions" {
  type        = number
  description = "Image versions kept per package by the cleanup policy."
  default     = 10
}
