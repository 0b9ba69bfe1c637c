variable "project_id" {
  type        = string
  description = "Project that owns the buckets."
}

variable "location" {
  type        = string
  description = "Bucket location; keep it the Vertex AI region so pipelines read and write locally."
}

variable "name_prefix" {
  type        = string
  description = "Globally unique prefix of bucket names, usually the project id."
}

variable "buckets" {
  type = map(object({
    purpose         = string
    delete_age_days = number
  }))
  description = "Bucket suffix to its purpose and the age in days after which objects are deleted (0 keeps them)."
  default = {
    pipeline-root = { purpose = "Vertex AI pipeline roots: quick-test intermediate artifacts", delete_age_days = 7 }
    artifacts     = { purpose = "experiment specs, compiled pipelines, metrics and artifact indexes", delete_age_days = 30 }
    staging       = { purpose = "Dataflow staging and temp files, build scratch", delete_age_days = 3 }
  }
  validation {
    condition     = alltrue([for b in values(var.buckets) : b.delete_age_days >= 0])
    error_message = "delete_age_days must be 0 (keep) or a positive number of days."
  }
}

variable "access_log_bucket" {
  type        = string
  description = "Bucket that receives usage logs of the other buckets (created here when empty)."
  default     = ""
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete non-empty buckets (true for throwaway environments)."
  default     = false
}
