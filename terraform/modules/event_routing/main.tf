# Vertex AI pipeline job and task state changes → the pipeline-state topic, through a Cloud
# Logging sink. Vertex AI writes an entry to two logs, both with resource type
# aiplatform.googleapis.com/PipelineJob (Cloud Logging's index of platform logs,
# docs.cloud.google.com/logging/docs/api/platform-logs):
#   aiplatform.googleapis.com/pipeline_job_events       the job's state (payload PipelineJobLogEntry)
#   aiplatform.googleapis.com/pipeline_job_task_events  each task's state (payload PipelineJobTaskLogEntry,
#                                                        label custom_job_id for the Trainer's custom job)
# The sink publishes each matching LogEntry as the JSON body of a Pub/Sub message, the shape
# experiments_platform.events.google_events.parse_log_entry reads (keys in docs/deploy.md,
# "What the status watcher reads").

locals {
  # Written out in full: only state-change entries of pipeline jobs and tasks, nothing else from the project.
  pipeline_state_filter = join(" AND ", [
    "resource.type=\"aiplatform.googleapis.com/PipelineJob\"",
    join(" OR ", [
      "(logName=\"projects/${var.project_id}/logs/aiplatform.googleapis.com%2Fpipeline_job_events\"",
      "logName=\"projects/${var.project_id}/logs/aiplatform.googleapis.com%2Fpipeline_job_task_events\")",
    ]),
    "jsonPayload.state:*",
  ])
}

resource "google_logging_project_sink" "pipeline_state" {
  project                = var.project_id
  name                   = var.sink_name
  description            = "Vertex AI pipeline job and task state changes for the experiments platform status watcher."
  destination            = "pubsub.googleapis.com/${var.state_topic_id}"
  filter                 = local.pipeline_state_filter
  unique_writer_identity = true
}

resource "google_pubsub_topic_iam_member" "sink_publishes" {
  project = var.project_id
  topic   = var.state_topic_id
  role    = "roles/pubsub.publisher"
  member  = google_logging_project_sink.pipeline_state.writer_identity
}
