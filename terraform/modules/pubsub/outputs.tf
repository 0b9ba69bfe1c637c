output "topic_ids" {
  description = "Topic name to topic id (projects/PROJECT/topics/NAME)."
  value       = { for name, topic in google_pubsub_topic.topic : name => topic.id }
}

output "dead_letter_topic_ids" {
  description = "Source topic name to its dead-letter topic id."
  value       = { for name, topic in google_pubsub_topic.dead_letter : name => topic.id }
}

output "subscription_ids" {
  description = "Push subscription name to subscription id."
  value       = { for name, sub in google_pubsub_subscription.push : name => sub.id }
}
