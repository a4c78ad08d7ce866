output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "cidr_block" {
  description = "The VPC's IPv4 range."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Subnets of the load balancer and the NAT gateways."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Subnets of the ECS tasks and the ClickHouse nodes."
  value       = aws_subnet.private[*].id
}

output "data_subnet_ids" {
  description = "Subnets of Aurora, ElastiCache and OpenSearch (no route to the internet)."
  value       = aws_subnet.data[*].id
}
