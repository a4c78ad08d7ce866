#!/usr/bin/env bash
# Register a new revision of a task definition family with another image, and print its ARN.
# Terraform owns everything else in the definition (size, environment, secrets, roles); this takes
# the family's latest revision and changes only the image.
#   register-task-definition.sh FAMILY IMAGE
set -euo pipefail
family=$1
image=$2
aws ecs describe-task-definition --task-definition "$family" --query taskDefinition --output json \
  | jq --arg image "$image" '
      .containerDefinitions[0].image = $image
      | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
            .registeredAt, .registeredBy, .deregisteredAt)' > "/tmp/$family.json"
aws ecs register-task-definition --cli-input-json "file:///tmp/$family.json" \
  --query taskDefinition.taskDefinitionArn --output text
