package routeguide

import (
	_ "embed"
	"encoding/json"
)

//go:embed route_guide_db.json
var dbJSON []byte

// LoadFeatures reads the example's feature database, as the Python
// example's route_guide_resources.read_route_guide_database does. Entries
// with an empty name mark points that have no feature.
func LoadFeatures() ([]*Feature, error) {
	var raw []struct {
		Location struct{ Latitude, Longitude int32 }
		Name     string
	}
	if err := json.Unmarshal(dbJSON, &raw); err != nil {
		return nil, err
	}
	out := make([]*Feature, len(raw))
	for i, r := range raw {
		out[i] = &Feature{Name: r.Name, Location: &Point{Latitude: r.Location.Latitude, Longitude: r.Location.Longitude}}
	}
	return out, nil
}
