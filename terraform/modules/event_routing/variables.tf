variable "project_id" {
  type        = string
  description = "Project whose Vertex AI pipeline logs are routed."
}

variable "state_topic_id" {
  type        = string
  description = "Topic id (projects/PROJECT/topics/pipeline-state) that receives the state-change log entries."
}

variable "sink_name" {
  type        = string
  description = "Name of the log sink."
  default     = "vertex-pipeline-state"
}
