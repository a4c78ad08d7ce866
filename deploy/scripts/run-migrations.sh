#!/usr/bin/env bash
# Run `morket db upgrade` as a one-off Fargate task and fail unless it exits 0.
#   run-migrations.sh CLUSTER TASK_DEFINITION_ARN SUBNETS(comma-separated) SECURITY_GROUP
set -euo pipefail
cluster=$1
task_definition=$2
subnets=$3
security_group=$4
network="awsvpcConfiguration={subnets=[$subnets],securityGroups=[$security_group],assignPublicIp=DISABLED}"
task=$(aws ecs run-task --cluster "$cluster" --task-definition "$task_definition" --launch-type FARGATE \
  --network-configuration "$network" --started-by "github-deploy" --query 'tasks[0].taskArn' --output text)
echo "migrations: $task"
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)
if [ "$code" != "0" ]; then
  reason=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].stoppedReason' --output text)
  echo "migrations failed (exit code $code): $reason; see the log group of the migrate task" >&2
  exit 1
fi
echo "migrations applied"
