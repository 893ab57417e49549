package authz

// IntrospectionCacheLen exposes the cache size to tests.
func IntrospectionCacheLen(rs *ResourceServer) int { return rs.intro.Len() }
