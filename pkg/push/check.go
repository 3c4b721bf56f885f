package push

// Check validates repositories and tags as Push would, without a request, so a
// pipeline can reject bad input before it spends time on a build.
func (p *Pusher) Check(repos, tags []string) error {
	_, err := p.parse(repos, tags)
	return err
}
